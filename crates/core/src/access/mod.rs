//! Cluster access: who the caller is to Kubernetes, across access entries and
//! the aws-auth ConfigMap, by the cluster's authentication mode.
