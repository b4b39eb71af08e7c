package main

import (
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

// cloudStorage copies the cloud storage settings into the dumper's command line; the SSE-C key
// stays out of it (the Job takes it from the Secret).
func cloudStorage(st cli.StorageFlags, s *contract.Storage) {
	s.STSEndpoint, s.SSE, s.SSEKMSKeyID = st.S3STSEndpoint, st.SSE, st.SSEKMSKeyID
	if st.RetainDays != 0 {
		s.RetainDays, s.RetainMode = st.RetainDays, st.RetainMode
	}
}

// cloudFlags say how the dumper's pod gets S3 credentials when not from the Secret's keys.
type cloudFlags struct {
	S3KeysFromSecret    bool   `name:"s3-keys-from-secret" env:"BACKUP_S3_KEYS_FROM_SECRET" default:"true" negatable:"" help:"Give the pod AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from --secret; --no-s3-keys-from-secret when the ServiceAccount provides credentials (IRSA, Pod Identity)."`
	WebIdentityAudience string `name:"web-identity-audience" env:"BACKUP_WEB_IDENTITY_AUDIENCE" help:"Mount a service-account token for this audience in the pod and get S3 credentials with it (web identity; no S3 keys in the Secret). Needs --web-identity-role-arn."`
	WebIdentityRoleARN  string `name:"web-identity-role-arn" env:"BACKUP_WEB_IDENTITY_ROLE_ARN" help:"Role the pod's token assumes (AWS_ROLE_ARN), with --web-identity-audience."`
}

// apply sets the pod's credentials and the SSE-C key on s.
func (f cloudFlags) apply(s *jobs.Spec, st cli.StorageFlags) error {
	if (f.WebIdentityAudience == "") != (f.WebIdentityRoleARN == "") {
		return contract.Usagef("--web-identity-audience and --web-identity-role-arn go together: set both (or neither)")
	}
	s.NoS3Keys = !f.S3KeysFromSecret
	if f.WebIdentityAudience != "" {
		s.WebIdentity = &jobs.WebIdentity{Audience: f.WebIdentityAudience, RoleARN: f.WebIdentityRoleARN}
	}
	s.SSECKey = st.SSE == "c"
	return nil
}
