# Habits: formatting, static analysis, a compile database for editors.
# The tools are Debian's (deps.sh).
#
#   make format-check          clang-format (.clang-format) in dry-run mode over
#                              the C sources; fails listing the files that differ
#                              (clang-format -i FILE rewrites one)
#   make lint                  cppcheck, then clang-tidy (.clang-tidy), over
#                              daemon/ and tidectl/ with the build's own flags
#   make compile_commands.json $(BUILD)/compile_commands.json for editors,
#                              recorded by bear from a rebuild of every C file
#                              (clangd finds it in build/ by itself)
#
# A false positive is silenced on its line, with the reason:
#   /* NOLINTNEXTLINE(check-name): why */                  clang-tidy
#   /* cppcheck-suppress id ; why */ on the line before    cppcheck
# A whole check is turned off only in .clang-tidy or below, with the reason.

CLANG_FORMAT ?= clang-format
CLANG_TIDY ?= clang-tidy
CPPCHECK ?= cppcheck
BEAR ?= bear

FORMAT_SRCS := $(wildcard daemon/*.[ch] tidectl/*.[ch] bpf/*.c include/*.h \
	tests/unit/*.[ch] tests/bench/*.c tests/fuzz/*.c)

.PHONY: format-check lint compile_commands.json

format-check:
	$(call msg,FORMAT,check)
	$(Q)command -v $(CLANG_FORMAT) >/dev/null || { echo "no $(CLANG_FORMAT): make deps" >&2; exit 1; }
	$(Q)bad=; for f in $(FORMAT_SRCS); do \
		$(CLANG_FORMAT) --dry-run -Werror "$$f" >/dev/null 2>&1 || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then \
		echo "format-check: these files differ from .clang-format (clang-format -i FILE):" >&2; \
		printf '  %s\n' $$bad >&2; \
		exit 1; \
	fi

# ---- lint ------------------------------------------------------------------
# cppcheck: the checks that find bugs (warning, performance, portability);
# "style" (variable scope, const parameters) is taste, left to review.
# readdirCalled is off: it recommends readdir_r, which glibc deprecates;
# readdir on a DIR of one's own is thread-safe.  cppcheck reads our headers
# only; Kbuild-helpers/cppcheck.cfg tells it the system macros it needs.
CPPCHECK_FLAGS := --quiet --error-exitcode=1 --inline-suppr \
	--enable=warning,performance,portability --std=c11 \
	--library=posix --library=gnu --library=Kbuild-helpers/cppcheck.cfg \
	--suppress=readdirCalled \
	-D_GNU_SOURCE -DTIDE_VERSION='"lint"' -Iinclude -Idaemon -Itidectl \
	--template='{file}:{line}: {severity}: {message} [{id}]'

# clang-tidy: with exactly the compile flags of the build.  What it finds in
# code generated under $(BUILD) (bpftool's skeletons) is dropped: not ours to
# fix, and kept by clang-tidy only because the analyzer's path runs through
# our file (the one seen: a "leak" of what bpf_object__destroy_skeleton frees).
LINT_GENERATED := $(abspath $(BUILD))/
LINT_DAEMON_SRCS := $(wildcard daemon/*.c)
LINT_TIDECTL_SRCS := $(wildcard tidectl/*.c)

lint: $(BPF_SKELS)
	$(Q)for t in $(CPPCHECK) $(CLANG_TIDY); do \
		command -v $$t >/dev/null || { echo "no $$t: make deps" >&2; exit 1; }; done
	$(call msg,LINT,cppcheck and clang-tidy: daemon tidectl)
	$(Q)fail=0; \
	$(CPPCHECK) $(CPPCHECK_FLAGS) daemon tidectl || fail=1; \
	tidy() { \
		local f=$$1 out kept rc=0; shift; \
		out=$$($(CLANG_TIDY) --quiet "$$f" -- "$$@" 2>&1) || rc=$$?; \
		kept=$$(printf '%s\n' "$$out" | awk -v gen='$(LINT_GENERATED)' -v rel='$(BUILD)/' \
			'/^[^ ]+:[0-9]+:[0-9]+: (warning|error): / { \
				skip = index($$0, gen) == 1 || index($$0, rel) == 1 } \
			!skip && !/ warnings? generated\.$$/'); \
		if grep -q ': error: ' <<<"$$kept" || \
		   { [ $$rc != 0 ] && ! grep -Eq "^($(LINT_GENERATED)|$(BUILD)/)[^ ]*: error: " <<<"$$out"; }; then \
			printf '%s\n' "$$kept" >&2; fail=1; \
		fi; \
	}; \
	for f in $(LINT_DAEMON_SRCS); do tidy "$$f" $(CFLAGS) -Idaemon; done; \
	for f in $(LINT_TIDECTL_SRCS); do tidy "$$f" $(CFLAGS) $(TIDECTL_CFLAGS); done; \
	[ $$fail = 0 ] || { echo "lint: see the findings above" >&2; exit 1; }

# ---- compile database -----------------------------------------------------
# bear sees only the compilers that run, so every C object and program is
# removed and built again under it (the BPF programs too: editors open them).
CDB := $(BUILD)/compile_commands.json
CDB_TARGETS = $(BPF_OBJS) $(DAEMON_OBJS) $(BUILD)/tided $(TIDECTL_OBJS) \
	$(TIDECTL_SHARED_OBJS) $(BUILD)/tidectl $(UNIT_BINS) $(BPFTEST_BINS) $(BENCH_BINS)

compile_commands.json: | $(BUILD)
	$(Q)command -v $(BEAR) >/dev/null || { echo "no $(BEAR): make deps" >&2; exit 1; }
	$(call msg,BEAR,$(CDB))
	$(Q)rm -f $(CDB_TARGETS)
	$(Q)$(BEAR) --output $(CDB).tmp -- $(MAKE) $(CDB_TARGETS)
	$(Q)mv $(CDB).tmp $(CDB)
