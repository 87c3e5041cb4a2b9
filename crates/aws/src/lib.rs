//! Live, read-only probes. One `SdkConfig` per run; each probe is a narrow
//! async function that returns `eksdoctor_core::snapshot` types, never SDK
//! types, so the same rules run on live and on saved data.
