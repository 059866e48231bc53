"""The backward through time derived by hand in plain numpy, the problem it is checked on, its comparison with
the engine and finite differences, and the bug zoo of classic mistakes."""
