//! `lint irsa`: IAM roles for service accounts, trust policy against the pod's token.
