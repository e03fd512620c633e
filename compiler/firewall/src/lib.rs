//! agentpol firewall backend.
