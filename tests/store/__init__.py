"""The store contract suite: every test that takes `store` runs on every backend."""
