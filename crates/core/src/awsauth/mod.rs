//! `lint aws-auth`: the aws-auth ConfigMap read and checked the way the EKS
//! authenticator reads it.
