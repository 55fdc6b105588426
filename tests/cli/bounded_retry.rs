//! bounded-retry behaviour tests: rewritten loops run under CPython with a
//! fake clock and a fake sleep.
