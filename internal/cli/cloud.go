package cli

import (
	"os"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

// cloudConfig adds the cloud storage settings to c: the rest of the credential chain from the
// environment, the session token, SSE (the SSE-C key from BACKUP_SSE_C_KEY only, never a flag)
// and the object-lock retention.
func (f StorageFlags) cloudConfig(c *storage.Config) {
	c.SessionToken = os.Getenv(storage.EnvSessionToken)
	c.CredEnv = storage.CredentialEnvFromOS()
	c.STSEndpoint = f.S3STSEndpoint
	c.SSE, c.SSEKMSKeyID, c.SSECKey = f.SSE, f.SSEKMSKeyID, os.Getenv(contract.EnvSSECKey)
	c.RetainDays = f.RetainDays
	if f.RetainDays != 0 {
		c.RetainMode = f.RetainMode
	}
}
