export const METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
export const ADMIN = "http://10.0.12.7:8500/v1/kv";
