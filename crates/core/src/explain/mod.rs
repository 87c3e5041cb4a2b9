//! `explain`: AWS and Kubernetes authorization error text, parsed and diagnosed.
