//! agentpol cedar backend.
