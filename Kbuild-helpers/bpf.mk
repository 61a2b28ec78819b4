# BPF programs: bpf/NAME.bpf.c -> $(BUILD)/bpf/NAME.bpf.o -> $(BUILD)/bpf/NAME.skel.h
# Every bpf/*.bpf.c is built; user space includes "NAME.skel.h".

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
# clang's own system includes, so BPF sees <bpf/bpf_helpers.h> and asm types
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -I$(dir $(VMLINUX_DEP)) $(CLANG_BPF_SYS_INCLUDES)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_DEP) $(wildcard include/*.h) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# keep the objects: tests and bpftool want them after the skeleton is made
.SECONDARY: $(BPF_OBJS)

bpf: $(BPF_SKELS)
.PHONY: bpf
