# cmocka unit tests: tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME
# (owned by the daemon skeleton work; see tests/unit/)
.PHONY: check-unit
check-unit:
