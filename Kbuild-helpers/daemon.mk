# tided, tidectl and the library of daemon modules they share.
# Every daemon/*.c except the two mains goes into $(BUILD)/libtide.a, so a
# new module needs no Makefile edit.

DAEMON_MAINS := daemon/tided.c daemon/tidectl.c
DAEMON_SRCS := $(filter-out $(DAEMON_MAINS),$(wildcard daemon/*.c))
DAEMON_OBJS := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(DAEMON_SRCS))
LIBTIDE := $(BUILD)/libtide.a

# objects may include any skeleton, so skeletons come first
$(BUILD)/obj/%.o: daemon/%.c $(wildcard include/*.h daemon/*.h) | $(BUILD)/obj $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -c $< -o $@

$(LIBTIDE): $(DAEMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tided $(BUILD)/tidectl: $(BUILD)/%: daemon/%.c $(LIBTIDE) $(wildcard include/*.h daemon/*.h) | $(BPF_SKELS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon $(LDFLAGS) $< $(LIBTIDE) $(LDLIBS) -o $@

ALL_TARGETS += $(BPF_SKELS) $(BUILD)/tided $(BUILD)/tidectl
