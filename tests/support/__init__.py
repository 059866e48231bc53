"""What the tests share that is not a test: the fuzzer's random programs, the audit's derivation mutations."""
