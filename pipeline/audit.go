package pipeline

import "time"

// AuditEntry is one thing someone (or the system, actor "") did: from
// segment events (uploads, processing, emergencies, withdrawals), job
// events (claims, submissions, approvals...), and users and tokens made
// or revoked. It is read from those tables, never written twice.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`  // segment.upload, job.approve, user.create, user.disable, user.enable, user.sign_out_everywhere, user.password_change, user.password_reset, token.create, token.revoke...
	Subject string    `json:"subject"` // segment id, job id, user name
	Detail  string    `json:"detail,omitempty"`
}
