"""A host app for the tests: an instance model whose fields have other names."""
