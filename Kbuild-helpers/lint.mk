# Habits: formatting, static analysis, a compile database for editors.
# The tools are Debian's (deps.sh).
#
#   make format-check          clang-format (.clang-format) in dry-run mode over
#                              the C sources; fails listing the files that differ
#                              (clang-format -i FILE rewrites one)

CLANG_FORMAT ?= clang-format

FORMAT_SRCS := $(wildcard daemon/*.[ch] tidectl/*.[ch] bpf/*.c include/*.h \
	tests/unit/*.[ch] tests/bench/*.c)

.PHONY: format-check

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
