# vmlinux.h from the running kernel's BTF (CO-RE): never committed.
# Override with VMLINUX_H=path/to/vmlinux.h to build for another kernel.

VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ifdef VMLINUX_H
  VMLINUX_DEP := $(VMLINUX_H)
else
  VMLINUX_DEP := $(BUILD)/vmlinux.h
$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): set VMLINUX_H=" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
endif
