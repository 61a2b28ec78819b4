# tidectl, the client, from tidectl/ alone.
# Every tidectl/*.c except the main goes into $(BUILD)/libtidectl.a (the unit
# tests link it), so a new tidectl module needs no Makefile edit.  Of the
# daemon's modules tidectl takes only util (clock, number parsing), compiled
# here again so that tidectl builds without the BPF toolchain; it links
# json-c and libc, nothing of libbpf or libvirt.

TIDECTL_MAIN := tidectl/tidectl.c
TIDECTL_SRCS := $(filter-out $(TIDECTL_MAIN),$(wildcard tidectl/*.c))
TIDECTL_OBJS := $(patsubst tidectl/%.c,$(BUILD)/obj/tidectl/%.o,$(TIDECTL_SRCS))
TIDECTL_SHARED := daemon/util.c
TIDECTL_SHARED_OBJS := $(patsubst daemon/%.c,$(BUILD)/obj/tidectl/daemon-%.o,$(TIDECTL_SHARED))
TIDECTL_HDRS := $(wildcard include/*.h tidectl/*.h) $(TIDECTL_SHARED:.c=.h)
TIDECTL_CFLAGS := -Itidectl -Idaemon
TIDECTL_LDLIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null)
LIBTIDECTL := $(BUILD)/libtidectl.a

$(BUILD)/obj/tidectl:
	$(Q)mkdir -p $@

$(BUILD)/obj/tidectl/%.o: tidectl/%.c $(TIDECTL_HDRS) | $(BUILD)/obj/tidectl
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TIDECTL_CFLAGS) -c $< -o $@

$(BUILD)/obj/tidectl/daemon-%.o: daemon/%.c $(TIDECTL_HDRS) | $(BUILD)/obj/tidectl
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TIDECTL_CFLAGS) -c $< -o $@

$(LIBTIDECTL): $(TIDECTL_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tidectl: $(TIDECTL_MAIN) $(LIBTIDECTL) $(TIDECTL_SHARED_OBJS) $(VERSION_STAMP) \
		$(TIDECTL_HDRS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(TIDECTL_CFLAGS) $(LDFLAGS) $< $(LIBTIDECTL) \
		$(TIDECTL_SHARED_OBJS) $(TIDECTL_LDLIBS) -o $@

ALL_TARGETS += $(BUILD)/tidectl
