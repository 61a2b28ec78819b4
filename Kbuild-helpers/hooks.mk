# tide-qemu-hook, libvirt's qemu hook (hooks/): $(BUILD)/tide-qemu-hook.
# It asks tided through tidectl's ctl_client (and util, for its clock) and
# links json-c, libconfig and libxml2: never libvirt, which it must not call.
# Included after lint.mk, whose format and lint checks it extends.

HOOK_SRCS := hooks/qemu_hook.c hooks/qemu_hook_xml.c
HOOK_BIN := $(BUILD)/tide-qemu-hook
HOOK_CFLAGS := -Ihooks -Itidectl -Idaemon
HOOK_OBJS := $(BUILD)/obj/tidectl/ctl_client.o $(BUILD)/obj/xmlu.o $(TIDECTL_SHARED_OBJS)
HOOK_LDLIBS := $(shell $(PKG_CONFIG) --libs json-c libconfig libxml-2.0 2>/dev/null)

$(HOOK_BIN): $(HOOK_SRCS) $(wildcard hooks/*.h) $(HOOK_OBJS) $(TIDECTL_HDRS) $(VERSION_STAMP)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(HOOK_CFLAGS) $(LDFLAGS) $(HOOK_SRCS) $(HOOK_OBJS) $(HOOK_LDLIBS) -o $@

ALL_TARGETS += $(HOOK_BIN)

# test_admit includes the hook's XML reader, and runs the hook itself
$(BUILD)/tests/test_admit: $(wildcard hooks/*.c hooks/*.h) | $(HOOK_BIN)

FORMAT_SRCS += $(wildcard hooks/*.[ch])

.PHONY: lint-hooks
lint: lint-hooks
lint-hooks:
	$(call msg,LINT,cppcheck and clang-tidy: hooks)
	$(Q)$(CPPCHECK) $(CPPCHECK_FLAGS) -Ihooks hooks
	$(Q)for f in $(HOOK_SRCS); do \
		out=$$($(CLANG_TIDY) --quiet "$$f" -- $(CFLAGS) $(HOOK_CFLAGS) 2>&1) || \
			{ printf '%s\n' "$$out" >&2; exit 1; }; \
		if grep -q ': \(warning\|error\): ' <<<"$$out"; then printf '%s\n' "$$out" >&2; exit 1; fi; \
	done
