//! Kubernetes manifests as operators hold them: multi-document YAML, `List`s,
//! `kubectl get -o yaml` output; workloads, pod specs and service accounts.
