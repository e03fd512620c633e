//! Policy generator for benchmarks (see below).
