//! agentpol verify backend.
