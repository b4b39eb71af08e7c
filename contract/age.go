package contract

// EnvAgeIdentity is the age identity (AGE-SECRET-KEY-1..., or an SSH private key) that decrypts
// encrypted backups. It is a secret: never a flag or an argument. Restore Jobs take it from the
// Secret (optional); backup Jobs and the CronJob never get it, only the public recipients.
const EnvAgeIdentity = "BACKUP_AGE_IDENTITY"
