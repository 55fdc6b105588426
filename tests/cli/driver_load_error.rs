//! driver-load-error behaviour tests: rewritten loaders run under CPython
//! with a fake loader.
