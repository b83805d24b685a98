package broadcast

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize/english"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// Import stores a registry and queues a rebuild of the communes in it
// (see Store.ImportRegistry for opt and the clusters it removes).
func (s *Service) Import(ctx context.Context, reg *schedules.Registry, opt schedules.ImportOptions) (schedules.ImportResult, error) {
	res, err := s.Store.ImportRegistry(ctx, reg, opt)
	if err != nil || opt.DryRun {
		return res, err
	}
	codes := make([]string, len(reg.Communes))
	for i, c := range reg.Communes {
		codes[i] = c.Code
	}
	s.rebuild(ctx, codes)
	return res, nil
}

// EmergenciesOf lists the segment's emergencies in force at now. Read it
// before the segment is withdrawn (ActiveEmergencies leaves withdrawn
// segments out) and hand it to Withdrawn.
func (s *Service) EmergenciesOf(ctx context.Context, segmentID string, now time.Time) ([]pipeline.Emergency, error) {
	ems, err := s.Store.ActiveEmergencies(ctx, now.Add(-HardMaxEmergency))
	if err != nil {
		return nil, fmt.Errorf("emergencies of segment %s: %w", segmentID, err)
	}
	var out []pipeline.Emergency
	for _, e := range ems {
		if e.SegmentID == segmentID && e.Until.After(now) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Withdrawn rebuilds at once every commune whose schedule from today on
// lists the withdrawn segment, and the communes of its emergencies in
// force (ems, from EmergenciesOf before the withdrawal; one of the whole
// province rebuilds every commune), so no playlist or bundle keeps an
// entry whose media has moved away (its links would answer 404) or airs
// a warning withdrawn as wrong. Every commune's rebuild follows through
// the one the store queued in the withdrawal's transaction (sqlstore
// DB.RebuildTx). The communes airing it are read from the airing
// history of the days built ahead (Store.History).
func (s *Service) Withdrawn(ctx context.Context, segmentID string, ems []pipeline.Emergency, now time.Time) error {
	province := false
	var codes []string
	for _, e := range ems {
		if len(e.Targets) == 0 {
			province = true
			break
		}
		codes = append(codes, e.Targets...)
	}
	if !province {
		today := schedules.DateOf(now.In(Location()))
		aired, err := s.Store.History(ctx, today, today.AddDays(s.days())) // to is exclusive
		if err != nil {
			return fmt.Errorf("communes airing withdrawn segment %s: %w", segmentID, err)
		}
		for _, a := range aired {
			if a.SegmentID == segmentID {
				codes = append(codes, a.Commune)
			}
		}
		if len(codes) == 0 {
			return nil
		}
		codes = slices.Compact(slices.Sorted(slices.Values(codes)))
	}
	s.log().Info("segment withdrawn: rebuilding the communes airing it", "segment", segmentID, "communes", len(codes), "province", province)
	if _, err := s.Build(ctx, now, codes, "withdrawn"); err != nil {
		return fmt.Errorf("rebuild the communes of withdrawn segment %s: %w", segmentID, err)
	}
	return nil
}

func (s *Service) rebuild(ctx context.Context, codes []string) {
	if s.Rebuilds == nil {
		return
	}
	if err := s.Rebuilds.EnqueueRebuild(ctx, nil, codes); err != nil {
		// The nightly build catches up; say so rather than fail the request.
		s.log().Warn("could not queue a schedule rebuild; the nightly build will catch up", "communes", codes, "err", err)
	}
}

// EmergencyRequest is what marking a segment emergency takes.
type EmergencyRequest struct {
	SegmentID string
	// Communes lists the target communes' codes; empty with Province true
	// means every commune.
	Communes []string
	Province bool
	// Until ends the emergency; zero means 24 hours from now (or the
	// Service's MaxEmergency, when shorter).
	Until time.Time
	// Reason says why (the disaster, fire or epidemic); it goes into the
	// audit log with who raised the emergency. Required.
	Reason string
	By     pipeline.User
	// Replace makes Communes (or Province) the emergency's whole target
	// list when one is in force: communes it leaves out lose the alert.
	// Without it a raise adds to the emergency in force. Dropping
	// communes is for an administrator or whoever raised it.
	Replace bool
}

// EmergencyPlan says what raising an emergency changes when one may be
// in force: the communes keeping it, added and losing it.
type EmergencyPlan struct {
	// InForce is the segment's emergency on air now (nil when none).
	InForce *pipeline.Emergency `json:"in_force,omitempty"`
	// Kept are communes in force that keep the alert, Added the new
	// ones, Dropped those that would lose it (commune codes; a province-
	// wide side is "every commune" of the registry, resolved).
	Kept    []string `json:"kept"`
	Added   []string `json:"added"`
	Dropped []string `json:"dropped"`
	// Targets is the resulting target list (empty when Province).
	Targets  []string  `json:"targets"`
	Province bool      `json:"province"`
	Until    time.Time `json:"until"`
	// Owner is who the emergency belongs to afterwards (may end or narrow
	// it): the raiser, or the owner of the one in force when the raiser
	// may not end that one and only adds to it.
	Owner int64 `json:"owner"`
	// NeedsConfirmation, when not empty, says why the raise is a wide
	// one that, asked for by anyone but an administrator, is only stored
	// for an administrator's confirmation (on no loudspeaker until then).
	NeedsConfirmation string `json:"needs_confirmation,omitempty"`
}

// MayEnd says whether by may end or narrow emergency e: an administrator,
// or the producer who raised (or confirmed) it.
func MayEnd(e pipeline.Emergency, by pipeline.User) bool {
	return by.Role == pipeline.RoleAdmin || (by.Role == pipeline.RoleProducer && e.MarkedBy == by.ID)
}

// PlanTargets works out the targets of a raise on top of the emergency
// in force (old; nil when none): with replace the new list stands, else
// the union; all lists every commune code (to name what a province-wide
// side covers). Pure: the service, the pages and the CLI's dry run show
// the same sets.
func PlanTargets(old *pipeline.Emergency, communes []string, province, replace bool, all []string) (kept, added, dropped, targets []string, wholeProvince bool) {
	norm := func(cs []string) []string { return slices.Compact(slices.Sorted(slices.Values(slices.Clone(cs)))) }
	communes = norm(communes)
	if old == nil {
		if province {
			return []string{}, norm(all), []string{}, []string{}, true
		}
		return []string{}, communes, []string{}, communes, false
	}
	oldProvince := len(old.Targets) == 0
	oldSet := norm(old.Targets)
	if oldProvince {
		oldSet = norm(all)
	}
	newSet := communes
	if province {
		newSet = norm(all)
	}
	wholeProvince = province || (!replace && oldProvince)
	if wholeProvince {
		targets = []string{}
	} else if replace {
		targets = communes
	} else {
		targets = norm(append(slices.Clone(oldSet), communes...))
	}
	final := targets
	if wholeProvince {
		final = norm(all)
	}
	kept, added, dropped = []string{}, []string{}, []string{}
	for _, c := range final {
		if slices.Contains(oldSet, c) {
			kept = append(kept, c)
		} else if slices.Contains(newSet, c) || wholeProvince {
			added = append(added, c)
		}
	}
	for _, c := range oldSet {
		if !slices.Contains(final, c) {
			dropped = append(dropped, c)
		}
	}
	return kept, added, dropped, targets, wholeProvince
}

// PlanEmergency validates req (but its reason) and works out what it
// would change on top of the segment's emergency in force, without
// changing anything. A
// narrowing (Replace dropping communes, or an earlier end) by someone
// who may not end the emergency in force is refused (forbidden).
func (s *Service) PlanEmergency(ctx context.Context, req EmergencyRequest) (EmergencyPlan, []pipeline.Emergency, error) {
	now := s.now()
	var plan EmergencyPlan
	targets := slices.Compact(slices.Sorted(slices.Values(req.Communes)))
	if len(targets) == 0 && !req.Province {
		return plan, nil, pipeline.FieldError("communes", "Name the target communes (communes: [codes]) or say province: true for every commune.")
	}
	if len(targets) > 0 && req.Province {
		return plan, nil, pipeline.FieldError("province", "Give either communes or province: true, not both.")
	}
	for _, c := range targets {
		if strings.ContainsAny(c, ",\x00") || c == "" {
			return plan, nil, pipeline.FieldError("communes", "Commune code %q is not valid.", c)
		}
	}
	until, err := s.emergencyUntil(req.Until, now)
	if err != nil {
		return plan, nil, err
	}
	ems, err := s.Store.ActiveEmergencies(ctx, now.Add(-HardMaxEmergency))
	if err != nil {
		return plan, nil, err
	}
	for _, e := range ems {
		if e.SegmentID == req.SegmentID && e.Until.After(now) {
			plan.InForce = &e
		}
	}
	cs, err := s.Store.Communes(ctx)
	if err != nil {
		return plan, nil, err
	}
	all := make([]string, 0, len(cs))
	for _, c := range cs {
		all = append(all, c.Code)
	}
	if err := unknownCommunes(targets, cs); err != nil {
		return plan, nil, err
	}
	plan.Kept, plan.Added, plan.Dropped, plan.Targets, plan.Province = PlanTargets(plan.InForce, targets, req.Province, req.Replace, all)
	plan.Until, plan.Owner = until, req.By.ID
	if old := plan.InForce; old != nil {
		may := MayEnd(*old, req.By)
		if len(plan.Dropped) > 0 && !may {
			return plan, nil, pipeline.Errorf(pipeline.CodeForbidden, "Replacing the communes of the emergency of segment %s would take the alert off %s: only an administrator or the person who raised it narrows an emergency. To add communes to it instead, raise it again without replacing (without --replace on the command line, replace in the API or the Replace box on the segment page), or ask an administrator.",
				req.SegmentID, strings.Join(plan.Dropped, ", "))
		}
		if !may {
			// Adding to someone else's emergency: it stays theirs, and its
			// end can only move later.
			plan.Owner = old.MarkedBy
			if old.Until.After(plan.Until) {
				plan.Until = old.Until
			}
		} else if req.Until.IsZero() && old.Until.After(plan.Until) {
			plan.Until = old.Until
		}
	}
	if req.By.Role != pipeline.RoleAdmin {
		// The person's other emergencies in force count with this one:
		// several small ones (on one segment after another, or on several
		// segments) are no way around the second person either. Communes
		// added to someone else's emergency count alone (the rest is not
		// his).
		counted := plan.Targets
		if plan.Owner != req.By.ID {
			counted = plan.Added
		}
		held, heldProvince := inForceBy(ems, req.By.ID, req.SegmentID, now)
		if plan.NeedsConfirmation, err = s.wide(ctx, (plan.Province && plan.Owner == req.By.ID) || heldProvince, counted, held); err != nil {
			return plan, nil, err
		}
	}
	return plan, ems, nil
}

// unknownCommunes refuses target codes that are no commune's code in
// cs, naming for each the codes it may stand for (a commune's name, or
// its code typed in another case or without diacritics: "Mường Lạn",
// "MUONG-LAN" → muong-lan), so a dry run catches them as the real run
// does.
func unknownCommunes(targets []string, cs []pipeline.CommuneSummary) error {
	codes := make(map[string]bool, len(cs))
	for _, c := range cs {
		codes[c.Code] = true
	}
	var msgs []string
	first := ""
	for _, t := range targets {
		if codes[t] {
			continue
		}
		if first == "" {
			first = t
		}
		m := CommuneMatches(t, cs)
		switch len(m) {
		case 0:
			msgs = append(msgs, fmt.Sprintf("No commune with code %q: 'loa communes list' shows the codes.", t))
		case 1:
			msgs = append(msgs, fmt.Sprintf("%q is not a commune code: did you mean %s? Give the code.", t, m[0]))
		default:
			msgs = append(msgs, fmt.Sprintf("%q is not a commune code: it matches %d communes (%s); give the code of the one meant.", t, len(m), strings.Join(m, ", ")))
		}
	}
	if first == "" {
		return nil
	}
	return pipeline.FieldError("communes", "%s Nothing was raised.", strings.Join(msgs, " ")).WithKey("unknown_commune", first)
}

// CommuneMatches lists the codes (with their names, "muong-lan (Mường
// Lạn)") of the communes in cs that text may stand for: its code or name
// compared without case, diacritics or the difference between spaces,
// '-' and '_'.
func CommuneMatches(text string, cs []pipeline.CommuneSummary) []string {
	key := communeKey(text)
	if key == "" {
		return nil
	}
	var out []string
	for _, c := range cs {
		if communeKey(c.Code) == key || communeKey(c.Name) == key {
			out = append(out, fmt.Sprintf("%s (%s)", c.Code, c.Name))
		}
	}
	return out
}

// communeKey is text folded for CommuneMatches: the file-name form of
// schedules.SafeName with every run of other characters as one '-'.
func communeKey(text string) string {
	k := schedules.SafeName(strings.TrimSpace(text))
	k = strings.ReplaceAll(k, "_", "-")
	for strings.Contains(k, "--") {
		k = strings.ReplaceAll(k, "--", "-")
	}
	return strings.Trim(k, "-")
}

// Describe says in one sentence what the plan changes, for a dry run:
// the communes in force, those added and those that would lose the alert,
// and the end.
func (p EmergencyPlan) Describe() string {
	list := func(cs []string) string {
		if len(cs) == 0 {
			return "none"
		}
		return strings.Join(cs, ", ")
	}
	var b strings.Builder
	if p.InForce == nil {
		b.WriteString("no emergency in force on this segment; ")
		if p.Province {
			b.WriteString("it would go to every commune of the province")
		} else {
			b.WriteString("it would go to communes " + list(p.Added))
		}
	} else {
		if len(p.InForce.Targets) == 0 {
			b.WriteString("in force now: the whole province")
		} else {
			b.WriteString("in force now: " + list(slices.Sorted(slices.Values(p.InForce.Targets))))
		}
		b.WriteString(" (until " + p.InForce.Until.In(Location()).Format("2006-01-02 15:04") + "); kept: " + list(p.Kept) + "; added: " + list(p.Added) + "; losing the alert: " + list(p.Dropped))
	}
	b.WriteString("; until " + p.Until.In(Location()).Format("2006-01-02 15:04 -07:00"))
	return b.String()
}

// EmergencyResult says which communes got the emergency, or that a
// province-wide emergency waits for an administrator's confirmation.
type EmergencyResult struct {
	SegmentID string      `json:"segment_id"`
	Targets   []string    `json:"targets"`
	Until     time.Time   `json:"until"`
	Build     BuildResult `json:"build"`
	// Pending is true when a producer's province-wide emergency was
	// stored for an administrator to confirm; nothing is on air yet.
	Pending bool   `json:"pending,omitempty"`
	Message string `json:"message,omitempty"`
	// Plan says which communes kept the alert, got it and lost it.
	Plan *EmergencyPlan `json:"plan,omitempty"`
}

// maxReasonLen bounds an emergency's reason.
const maxReasonLen = 500

// Emergency marks a segment emergency (Thông tư 39) for the target
// communes and rebuilds their schedules at once: the segment leads every
// slot from now on and an "interrupt now" entry heads the current
// playlists; their ETags change and connected devices are told.
// Untargeted communes are not rebuilt in the request: the store queues a
// rebuild of every commune in the raise's transaction (sqlstore
// DB.RebuildTx), which takes the segment out of the rotation of those
// that still air it as a normal item (an emergency with targets airs
// only there). until is at most MaxEmergency
// away; the reason is required and logged with who raised it. A
// wide emergency (the province, or more communes than [Service.wide]
// allows one person) asked for by anyone but an administrator is only
// stored (Pending) until an administrator confirms it with
// [Service.ConfirmEmergency].
func (s *Service) Emergency(ctx context.Context, req EmergencyRequest) (EmergencyResult, error) {
	now := s.now()
	res := EmergencyResult{SegmentID: req.SegmentID}
	plan, ems, err := s.PlanEmergency(ctx, req)
	if err != nil {
		return res, err
	}
	reason, err := emergencyReason(req.Reason)
	if err != nil {
		return res, err
	}
	res.Plan = &plan
	targets, until := plan.Targets, plan.Until
	if wide := plan.NeedsConfirmation; wide != "" {
		if err := s.Store.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: req.SegmentID, Targets: targets, Until: until, Reason: reason,
			RequestedBy: req.By.ID, RequestedAt: now}); err != nil {
			return res, err
		}
		s.log().Warn("wide emergency requested; waiting for an administrator", "segment", req.SegmentID, "targets", targets, "by", req.By.Name, "reason", reason)
		res.Targets, res.Until, res.Pending = []string{}, until, true
		res.Message = wide + " needs an administrator's confirmation: it is stored and on no loudspeaker yet. Ask an administrator to confirm it (loa segments emergency " + req.SegmentID + " --confirm-request --yes, or the segment page)."
		return res, nil
	}
	e := pipeline.Emergency{SegmentID: req.SegmentID, Targets: targets, Until: until, MarkedBy: plan.Owner, MarkedAt: now, Reason: reason}
	if plan.Owner != req.By.ID {
		e.Actor = req.By.ID
	}
	if plan.Province {
		e.Targets = nil
	}
	raised, err := s.raise(ctx, e, ems)
	raised.Plan = &plan
	return raised, err
}

// ConfirmEmergency raises the wide emergency a producer asked for; by must be an administrator. The audit log names both. A request
// whose end time has passed (expired) is refused (CodeConflict, Key
// pipeline.KeyEmergencyRequestExpired).
func (s *Service) ConfirmEmergency(ctx context.Context, segmentID string, by pipeline.User) (EmergencyResult, error) {
	if by.Role != pipeline.RoleAdmin {
		return EmergencyResult{}, pipeline.Errorf(pipeline.CodeForbidden, "Only an administrator confirms a province-wide emergency.")
	}
	r, err := s.Store.PendingEmergency(ctx, segmentID)
	if err != nil {
		return EmergencyResult{}, err
	}
	now := s.now()
	if !r.Until.After(now) {
		ended := r.Until.In(Location()).Format("2006-01-02 15:04")
		return EmergencyResult{}, (&pipeline.Error{Code: pipeline.CodeConflict, Message: fmt.Sprintf(
			"The emergency request for segment %s has expired: the emergency it asked for was to end at %s (Asia/Ho_Chi_Minh), which has passed, so it cannot be confirmed. "+
				"Cancel the request (loa segments emergency %s --cancel-request --reason WHY --yes) and, if the emergency is still needed, ask for it again with a new end time.",
			segmentID, ended, segmentID)}).WithKey(pipeline.KeyEmergencyRequestExpired, ended)
	}
	ems, err := s.Store.ActiveEmergencies(ctx, now.Add(-HardMaxEmergency))
	if err != nil {
		return EmergencyResult{}, err
	}
	// Confirming adds to an emergency in force (one raised since the
	// request was made): it drops no commune.
	targets := r.Targets
	for _, e := range ems {
		if e.SegmentID == segmentID && e.Until.After(now) && len(targets) > 0 {
			if len(e.Targets) == 0 {
				targets = nil
			} else {
				targets = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(targets), e.Targets...))))
			}
			if e.Until.After(r.Until) {
				r.Until = e.Until
			}
		}
	}
	return s.raise(ctx, pipeline.Emergency{SegmentID: segmentID, Targets: targets, Until: r.Until, MarkedBy: by.ID, MarkedAt: now, Reason: r.Reason, RequestedBy: r.RequestedBy}, ems)
}

// EndResult says what [Service.EndEmergency] ended.
type EndResult struct {
	SegmentID string `json:"segment_id"`
	// Ended is true when an emergency was in force and now is not;
	// Targets were its communes (empty: the whole province).
	Ended   bool     `json:"ended"`
	Targets []string `json:"targets"`
	// Cancelled is true when a wide emergency request waiting for an
	// administrator was dropped.
	Cancelled bool        `json:"cancelled"`
	Build     BuildResult `json:"build"`
	Message   string      `json:"message"`
}

// EndEmergency ends segment segmentID's emergency in force now, before
// its end time, and cancels its wide request waiting for confirmation:
// the emergency's end becomes now (the audit log keeps who raised it and
// who ended it, and why) and its communes are rebuilt at once, so their
// playlists' ETags change and connected devices drop it; every other
// commune whose schedule still names the segment (one built before the
// raise, where it was a normal item) follows through the rebuild the
// store queues in the end's transaction. The segment keeps priority
// emergency but, as when an emergency runs out, airs no more: its air
// window ended with the emergency. An administrator ends any; a
// producer only one he raised (or requested) himself. The reason is
// required.
func (s *Service) EndEmergency(ctx context.Context, segmentID, reason string, by pipeline.User) (EndResult, error) {
	res := EndResult{SegmentID: segmentID, Targets: []string{}}
	if strings.TrimSpace(reason) == "" {
		return res, pipeline.FieldError("reason", "Say why the emergency is ended early (for example: báo động nhầm): it goes into the audit log with your name.")
	}
	reason, err := emergencyReason(reason)
	if err != nil {
		return res, err
	}
	now := s.now()
	if err := s.mayEnd(ctx, segmentID, by, now); err != nil {
		return res, err
	}
	e, cancelled, err := s.Store.EndEmergency(ctx, segmentID, by.ID, reason, now)
	if err != nil {
		return res, err
	}
	res.Cancelled = cancelled
	if e.SegmentID == "" {
		s.log().Warn("emergency request cancelled", "segment", segmentID, "by", by.Name, "reason", reason)
		res.Message = "The emergency request waiting for an administrator is cancelled; nothing was on air."
		return res, nil
	}
	res.Ended = true
	if e.Targets != nil {
		res.Targets = e.Targets
	}
	s.log().Warn("emergency ended early", "segment", segmentID, "targets", e.Targets, "was_until", e.Until, "by", by.Name, "reason", reason)
	// e.Targets nil is the whole province: Build rebuilds every commune.
	if res.Build, err = s.Build(ctx, now, e.Targets, "emergency_ended"); err != nil {
		return res, fmt.Errorf("rebuild the communes of the ended emergency of %s: %w", segmentID, err)
	}
	res.Message = "The emergency is ended: its communes are rebuilt without it and their devices are told."
	if cancelled {
		res.Message += " The request waiting for an administrator is cancelled too."
	}
	return res, nil
}

// MayCancelRequest says whether by may drop wide emergency request r
// waiting for confirmation: the person who asked for it (withdrawing
// it) or an administrator (declining it).
func MayCancelRequest(r pipeline.EmergencyRequest, by pipeline.User) bool {
	return by.Role == pipeline.RoleAdmin || (by.Role == pipeline.RoleProducer && r.RequestedBy == by.ID)
}

// CancelResult says what [Service.CancelRequest] dropped.
type CancelResult struct {
	SegmentID string `json:"segment_id"`
	// Declined is true when an administrator declined someone else's
	// request, false when its requester withdrew it.
	Declined bool `json:"declined"`
	// Targets were the communes asked for (empty: the whole province).
	Targets []string  `json:"targets"`
	Until   time.Time `json:"until"`
	// InForce is the segment's emergency on air, untouched (nil when none).
	InForce *pipeline.EmergencyInForce `json:"in_force,omitempty"`
	Message string                     `json:"message"`
}

// CheckCancelRequest returns segment segmentID's wide request waiting
// for confirmation if by may drop it, and whether dropping it declines
// it (an administrator and someone else's request); a not-found error
// when none waits, forbidden when by may not. Nothing changes.
func (s *Service) CheckCancelRequest(ctx context.Context, segmentID string, by pipeline.User) (pipeline.EmergencyRequest, bool, error) {
	r, err := s.Store.PendingEmergency(ctx, segmentID)
	if err != nil {
		return r, false, err
	}
	if !MayCancelRequest(r, by) {
		return r, false, pipeline.Errorf(pipeline.CodeForbidden, "The emergency request of segment %s was made by someone else: only its requester withdraws it, or an administrator declines it.", segmentID)
	}
	return r, r.RequestedBy != by.ID, nil
}

// CancelRequest drops segment segmentID's wide emergency request
// waiting for an administrator's confirmation, and only that: an
// emergency in force on the segment stays on air, unchanged, and no
// schedule changes (the request was on no loudspeaker). Its requester
// withdraws it (reason optional); an administrator declines it (reason
// required: the requester is told it, by notice). The audit log keeps
// who and why.
func (s *Service) CancelRequest(ctx context.Context, segmentID, reason string, by pipeline.User) (CancelResult, error) {
	res := CancelResult{SegmentID: segmentID, Targets: []string{}}
	_, declined, err := s.CheckCancelRequest(ctx, segmentID, by)
	if err != nil {
		return res, err
	}
	if declined || strings.TrimSpace(reason) != "" {
		if strings.TrimSpace(reason) == "" {
			return res, pipeline.FieldError("reason", "Say why the request is declined: its requester is told, and it goes into the audit log with your name.")
		}
		if reason, err = emergencyReason(reason); err != nil {
			return res, err
		}
	}
	now := s.now()
	r, err := s.Store.CancelEmergencyRequest(ctx, segmentID, by.ID, declined, reason, now)
	if err != nil {
		return res, err
	}
	res.Declined, res.Until = declined, r.Until
	if r.Targets != nil {
		res.Targets = r.Targets
	}
	s.log().Warn("emergency request dropped", "segment", segmentID, "declined", declined, "by", by.Name, "reason", reason)
	what := "withdrawn"
	if declined {
		what = "declined (its requester is told)"
	}
	res.Message = "The emergency request waiting for an administrator is " + what + "; it was on no loudspeaker."
	switch e, err := s.Store.EmergencyInForce(ctx, segmentID, now); {
	case err == nil:
		res.InForce = &e
		res.Message += " The emergency in force on the segment is unchanged."
	case pipeline.ErrorCode(err) != pipeline.CodeNotFound:
		return res, err
	}
	return res, nil
}

// PlanEnd says, for the dry run of [Service.EndEmergency], what ending
// segment segmentID's emergency would do: the communes losing it and
// whether a request waiting is cancelled too. It refuses (forbidden) as
// the real run would when by may not end it, pointing a requester to
// withdrawing only his request; not-found when there is nothing to end.
func (s *Service) PlanEnd(ctx context.Context, segmentID string, by pipeline.User) (string, error) {
	now := s.now()
	if err := s.mayEnd(ctx, segmentID, by, now); err != nil {
		return "", err
	}
	var parts []string
	switch e, err := s.Store.EmergencyInForce(ctx, segmentID, now); {
	case err == nil:
		where := "the whole province"
		if !e.Province {
			where = "communes " + strings.Join(e.Communes, ", ")
		}
		parts = append(parts, fmt.Sprintf("ending it takes segment %s off the loudspeakers of %s at once (in force until %s, raised by %s)",
			segmentID, where, e.Until.In(Location()).Format("2006-01-02 15:04 -07:00"), e.RaisedBy))
	case pipeline.ErrorCode(err) != pipeline.CodeNotFound:
		return "", err
	}
	switch r, err := s.Store.PendingEmergency(ctx, segmentID); {
	case err == nil:
		where := "the whole province"
		if len(r.Targets) > 0 {
			where = "communes " + strings.Join(r.Targets, ", ")
		}
		if len(parts) > 0 {
			parts = append(parts, fmt.Sprintf("the request waiting for an administrator (%s) is cancelled too", where))
		} else {
			parts = append(parts, fmt.Sprintf("it cancels the request waiting for an administrator (%s); nothing of it is on air", where))
		}
	case pipeline.ErrorCode(err) != pipeline.CodeNotFound:
		return "", err
	}
	if len(parts) == 0 {
		return "", pipeline.Errorf(pipeline.CodeNotFound, "Segment %s has no emergency in force and no emergency request waiting: there is nothing to end.", segmentID)
	}
	return strings.Join(parts, "; ") + ".", nil
}

// mayEnd refuses (forbidden) an end of segment segmentID's emergency
// (and request) by someone who may not: only an administrator, or the
// producer who raised the emergency in force and asked for the request.
func (s *Service) mayEnd(ctx context.Context, segmentID string, by pipeline.User, now time.Time) error {
	if by.Role == pipeline.RoleAdmin {
		return nil
	}
	if by.Role != pipeline.RoleProducer {
		return pipeline.Errorf(pipeline.CodeForbidden, "Only an administrator or the producer who raised it ends an emergency.")
	}
	r, err := s.Store.PendingEmergency(ctx, segmentID)
	if err != nil && pipeline.ErrorCode(err) != pipeline.CodeNotFound {
		return err
	}
	found := err == nil
	ownRequest := found && r.RequestedBy == by.ID
	ems, err := s.EmergenciesOf(ctx, segmentID, now)
	if err != nil {
		return err
	}
	for _, e := range ems {
		if e.MarkedBy != by.ID {
			msg := fmt.Sprintf("The emergency of segment %s was raised (or confirmed) by someone else: ask an administrator to end it.", segmentID)
			if ownRequest {
				msg += fmt.Sprintf(" To withdraw only your request waiting for confirmation, leaving that emergency on air: loa segments emergency %s --cancel-request --yes.", segmentID)
			}
			return pipeline.Errorf(pipeline.CodeForbidden, "%s", msg).WithKey(pipeline.KeyEmergencyNotYours, segmentID)
		}
	}
	if found && !ownRequest {
		return pipeline.Errorf(pipeline.CodeForbidden, "The emergency request of segment %s was made by someone else: ask an administrator to cancel it.", segmentID)
	}
	return nil
}

// DefaultWideEmergency is how many communes one person other than an
// administrator may put an emergency on without a second person's
// confirmation: enough for a flood along one valley, far from a province.
const DefaultWideEmergency = 10

// inForceBy lists the communes the emergencies in force at now that user
// raised himself cover, other than segment except's (which a new request
// replaces), and whether one of them is province-wide. Emergencies an
// administrator confirmed are the administrator's: they do not count.
func inForceBy(ems []pipeline.Emergency, user int64, except string, now time.Time) (communes []string, province bool) {
	for _, e := range ems {
		if e.MarkedBy != user || e.SegmentID == except || !e.Until.After(now) {
			continue
		}
		if len(e.Targets) == 0 {
			province = true
		}
		communes = append(communes, e.Targets...)
	}
	return communes, province
}

// wide says why an emergency needs an administrator's confirmation when
// a producer asks for it, or "" when it does not: the whole province, more
// than WideEmergency communes, or more than half of the registry's
// communes (so naming every commune one by one is no way around it),
// counting with targets the communes held by the same person's other
// emergencies in force (so raising several small ones is no way around it
// either).
func (s *Service) wide(ctx context.Context, province bool, targets, held []string) (string, error) {
	if province {
		return "A province-wide emergency", nil
	}
	all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(targets), held...))))
	with := ""
	if len(all) > len(targets) {
		with = fmt.Sprintf(" (%d with your other emergencies in force)", len(all))
	}
	limit := s.WideLimit()
	on := english.Plural(len(targets), "commune", "communes") + " (" + strings.Join(targets, ", ") + ")"
	if len(all) > limit {
		return fmt.Sprintf("An emergency on %s%s, more than the %d one person may raise alone,", on, with, limit), nil
	}
	registry, err := s.Store.Communes(ctx)
	if err != nil {
		return "", err
	}
	if 2*len(all) > len(registry) {
		return fmt.Sprintf("An emergency on %s%s, more than half of the province's %d,", on, with, len(registry)), nil
	}
	return "", nil
}

// WideLimit is the most communes one person other than an administrator
// may have under emergencies in force at once (their own, all segments
// together) without an administrator's confirmation:
// [Service.WideEmergency], or [DefaultWideEmergency] when unset.
func (s *Service) WideLimit() int {
	if s.WideEmergency <= 0 {
		return DefaultWideEmergency
	}
	return s.WideEmergency
}

// raise marks the emergency and rebuilds its targets and the communes
// an earlier emergency of the same segment covered (found in ems, the
// emergencies in force): one the new targets drop must lose the
// emergency at once, not at the next full build. Every other commune
// follows through the rebuild MarkEmergency queues in its transaction.
func (s *Service) raise(ctx context.Context, e pipeline.Emergency, ems []pipeline.Emergency) (EmergencyResult, error) {
	res := EmergencyResult{SegmentID: e.SegmentID}
	rebuild := slices.Clone(e.Targets)
	for _, old := range ems {
		if old.SegmentID != e.SegmentID {
			continue
		}
		if len(old.Targets) == 0 || len(rebuild) == 0 {
			rebuild = nil // the whole province
			break
		}
		rebuild = slices.Compact(slices.Sorted(slices.Values(append(rebuild, old.Targets...))))
	}
	if err := s.Store.MarkEmergency(ctx, e); err != nil {
		return res, err
	}
	s.log().Warn("emergency raised", "segment", e.SegmentID, "targets", e.Targets, "until", e.Until, "by", e.MarkedBy, "requested_by", e.RequestedBy, "reason", e.Reason)
	build, err := s.Build(ctx, e.MarkedAt, rebuild, "emergency")
	if err != nil {
		return res, err
	}
	res.Targets, res.Until, res.Build = e.Targets, e.Until, build
	if res.Targets == nil {
		res.Targets = []string{}
	}
	return res, nil
}

func emergencyReason(reason string) (string, error) {
	reason = strings.Join(strings.Fields(reason), " ")
	reason, err := pipeline.CleanText("reason", "The reason", reason, false)
	if err != nil {
		return "", err
	}
	switch {
	case reason == "":
		return "", pipeline.FieldError("reason", "Say why the emergency is raised (for example: lũ quét ở bản Nà Sài): it goes into the audit log with your name.")
	case utf8.RuneCountInString(reason) > maxReasonLen:
		return "", pipeline.FieldError("reason", "The reason is longer than %d characters: shorten it.", maxReasonLen)
	case !utf8.ValidString(reason):
		return "", pipeline.FieldError("reason", "The reason is not valid UTF-8 text.")
	}
	return reason, nil
}

func (s *Service) emergencyUntil(until, now time.Time) (time.Time, error) {
	limit := s.maxEmergency()
	until = until.UTC()
	if until.IsZero() {
		until = now.Add(min(24*time.Hour, limit))
	}
	if !until.After(now) {
		return until, pipeline.FieldError("until", "until is in the past: give a time after now, or leave it out for 24 hours.").WithKey("emergency_until_past")
	}
	if until.Sub(now) > limit {
		local := func(t time.Time) string { return t.In(Location()).Format("2006-01-02 15:04 -07:00") }
		longest, latest, asked := pipeline.HumanDuration(limit), local(now.Add(limit)), local(until)
		return until, pipeline.FieldError("until", "An emergency lasts at most %s from now (until %s); %s is later. Give an earlier end, and raise the emergency again when it ends if it is still needed.",
			longest, latest, asked).WithKey("emergency_too_long", longest, latest, asked)
	}
	return until, nil
}

// PlayTolerance is how much longer than its scheduled length a played
// item may be reported to have lasted (player start-up, clock steps).
const PlayTolerance = 30 * time.Second

// RefusedReport is a play report Report did not store, and why.
type RefusedReport struct {
	N      int    `json:"report"` // its position in the body, from 1
	ID     string `json:"id"`
	Code   string `json:"code"` // one of the Refused… codes
	Reason string `json:"reason"`
	// Args are the figures Reason names for Code, in the order the
	// pages' catalogue text ("err_play_" + Code) takes them; local times
	// in Asia/Ho_Chi_Minh.
	Args []string `json:"-"`
}

// Why a play report is refused (RefusedReport.Code).
const (
	RefusedNotScheduled  = "not_scheduled"  // args: cluster, date
	RefusedFuture        = "future"         // args: started, the server's now
	RefusedOutsideWindow = "outside_window" // args: started, from, until
	RefusedTooLong       = "too_long"       // args: item length, played
)

// ReportResult is what Report did with a body of play reports.
type ReportResult struct {
	// New counts the stored reports that were new (the rest of the
	// accepted ones had been received before).
	New int
	// Refused lists the reports not stored: an item not scheduled for
	// that cluster on that date (in any version of the commune's
	// schedule), or played longer than the item lasts plus PlayTolerance.
	Refused []RefusedReport
}

// Report stores the play reports of a commune's devices that match its
// schedule and refuses the others, saying why. Every report's cluster
// must be one of the commune's, or one removed from the registry that
// its schedule had on the report's date (else nothing is stored: the
// device is misconfigured). Each report's item must be scheduled for its cluster on
// its date, and a played item cannot have lasted longer than its
// scheduled length plus PlayTolerance: such a report would inflate the
// proof of play, so it is refused and listed in the result.
func (s *Service) Report(ctx context.Context, head pipeline.CommuneHead, by pipeline.User, reports []schedules.PlayReport) (ReportResult, error) {
	res := ReportResult{Refused: []RefusedReport{}}
	reg, err := s.Store.Registry(ctx)
	if err != nil {
		return res, err
	}
	c := reg.Commune(head.Code)
	if c == nil {
		return res, pipeline.Errorf(pipeline.CodeNotFound, "No commune %q.", head.Code)
	}
	loc := Location()
	dateOf := func(r schedules.PlayReport) string {
		if len(r.Entry) >= 10 {
			if day, err := schedules.ParseDate(r.Entry[:10]); err == nil {
				return day.String()
			}
		}
		return schedules.DateOf(r.Started.In(loc)).String()
	}
	scheduled := map[[2]string]map[string]pipeline.ScheduledEntry{} // (cluster, date) -> entry
	// entriesOf reads (once) what r's cluster had scheduled on its date.
	entriesOf := func(r schedules.PlayReport) ([2]string, map[string]pipeline.ScheduledEntry, error) {
		k := [2]string{r.Cluster, dateOf(r)}
		entries, ok := scheduled[k]
		if !ok {
			var err error
			if entries, err = s.Store.ScheduledEntries(ctx, head.Code, k[0], k[1]); err != nil {
				return k, nil, err
			}
			scheduled[k] = entries
		}
		return k, entries, nil
	}
	for i, r := range reports {
		if slices.ContainsFunc(c.Clusters, func(cl schedules.Cluster) bool { return cl.ID == r.Cluster }) {
			continue
		}
		// A cluster removed from the registry since (an import with
		// removals allowed) still has the schedules built for it: what it
		// played before is proof of play like any other.
		_, entries, err := entriesOf(r)
		if err != nil {
			return res, err
		}
		if len(entries) == 0 {
			return res, pipeline.FieldError("cluster", "Report %d: commune %s has no cluster %q.", i+1, head.Code, r.Cluster)
		}
	}
	var keep []schedules.PlayReport
	for i, r := range reports {
		k, entries, err := entriesOf(r)
		if err != nil {
			return res, err
		}
		if rf := checkPlay(r, entries, k[0], k[1], s.now()); rf.Reason != "" {
			rf.N = i + 1
			res.Refused = append(res.Refused, rf)
			continue
		}
		keep = append(keep, r)
	}
	if len(keep) > 0 {
		if res.New, err = s.Store.SavePlayReports(ctx, head.Code, by.ID, keep, dateOf); err != nil {
			return res, err
		}
	}
	if len(res.Refused) > 0 {
		s.log().Warn("play reports refused", "commune", head.Code, "user", by.Name, "refused", len(res.Refused), "of", len(reports),
			"first", res.Refused[0].Reason)
	}
	return res, nil
}

// ReportSkew is how far a device's clock may be from the server's: a
// play report may start this far past the server's now, and this far
// outside the times its item was scheduled.
const ReportSkew = 5 * time.Minute

// Late starts the player makes (pipeline/player Plan.Next): a programme
// item starts only while its window holds (until the next entry of its
// slot starts), resuming from the offset the clock says after a power cut
// or an emergency, so it begins within its slot; an emergency interrupt plays when the device learns of
// it, from InterruptLead before its stamp to InterruptWindow after it.
const (
	InterruptLead   = 5 * time.Minute
	InterruptWindow = time.Hour
)

// checkPlay says why a report does not match the schedule (entries, of
// cluster on date) at now; its Reason is "" when it does.
func checkPlay(r schedules.PlayReport, entries map[string]pipeline.ScheduledEntry, cluster, date string, now time.Time) RefusedReport {
	loc := Location()
	local := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05") }
	refuse := func(code, reason string, args ...string) RefusedReport {
		return RefusedReport{ID: r.ID, Code: code, Reason: reason, Args: args}
	}
	e, ok := entries[r.Entry]
	if !ok {
		return refuse(RefusedNotScheduled, fmt.Sprintf("item %q is not in the schedule of cluster %s on %s: report the id of an entry of the playlist that was played", r.Entry, cluster, date),
			cluster, date)
	}
	if r.Started.After(now.Add(ReportSkew)) {
		return refuse(RefusedFuture, fmt.Sprintf("item %q is reported started at %s, in the future (the server's clock says %s): set the device's clock right (timedatectl, NTP)",
			r.Entry, r.Started.Format(time.RFC3339), now.Format(time.RFC3339)), local(r.Started), local(now))
	}
	from, until := e.First.Add(-ReportSkew), e.Last.Add(ReportSkew)
	if e.Kind == string(schedules.EntryInterrupt) {
		from, until = e.First.Add(-InterruptLead-ReportSkew), e.First.Add(InterruptWindow+ReportSkew)
	}
	if r.Started.Before(from) || r.Started.After(until) {
		return refuse(RefusedOutsideWindow, fmt.Sprintf("item %q of %s is reported started at %s, outside the times it could play (%s to %s): report the time the item itself started",
			r.Entry, date, local(r.Started), local(from), until.In(loc).Format("15:04:05")), local(r.Started), local(from), local(until))
	}
	if r.Status != schedules.Played || r.Finished.IsZero() {
		return RefusedReport{}
	}
	length := time.Duration(e.DurationMS) * time.Millisecond
	if played := r.Finished.Sub(r.Started); played > length+PlayTolerance {
		return refuse(RefusedTooLong, fmt.Sprintf("item %q lasts %s but the report says it played %s (from %s to %s): report the time the item itself started and finished",
			r.Entry, pipeline.HumanDuration(length), pipeline.HumanDuration(played), r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339)),
			pipeline.HumanDuration(length), pipeline.HumanDuration(played))
	}
	return RefusedReport{}
}

// ShowRow is one scheduled entry with what was reported about it.
type ShowRow struct {
	pipeline.ScheduleItem
	Reports []pipeline.PlayRecord `json:"reports"`
}

// ShowDoc puts a commune's schedule for a date beside its play reports.
type ShowDoc struct {
	Commune   string                `json:"commune"`
	Name      string                `json:"name"`
	Date      string                `json:"date"`
	Version   string                `json:"version"`
	ETag      string                `json:"etag"`
	Rows      []ShowRow             `json:"rows"`
	Unmatched []pipeline.PlayRecord `json:"unmatched_reports"`
}

// Show returns the commune's schedule for date (one cluster, or all when
// cluster is empty) with the play reports matched to each entry.
func (s *Service) Show(ctx context.Context, head pipeline.CommuneHead, cluster string, date schedules.Date) (ShowDoc, error) {
	doc := ShowDoc{Commune: head.Code, Name: head.Name, Date: date.String(), Version: head.VersionID, ETag: head.ETag, Rows: []ShowRow{}, Unmatched: []pipeline.PlayRecord{}}
	var items []pipeline.ScheduleItem
	if head.VersionID != "" {
		var err error
		if items, err = s.Store.VersionItems(ctx, head.VersionID, cluster, date.String()); err != nil {
			return doc, err
		}
	}
	reports, err := s.Store.PlayReports(ctx, head.Code, date.String())
	if err != nil {
		return doc, err
	}
	doc.Rows, doc.Unmatched = matchReports(orderEntries(items), reports, cluster)
	return doc, nil
}

// matchReports pairs each entry of items (in order) with the play reports
// of its cluster, entry and segment; a report of the same entry ID that
// names another segment was played from an earlier version, whose entries
// a rebuild renumbered (a withdrawal, an emergency during the slot), and
// goes with the unmatched ones, oldest first. A report naming no segment
// (a relay) matches by entry alone. Reports of other clusters than
// cluster are left out when cluster is not empty.
func matchReports(items []pipeline.ScheduleItem, reports []pipeline.PlayRecord, cluster string) (rows []ShowRow, unmatched []pipeline.PlayRecord) {
	byEntry := map[[2]string][]pipeline.PlayRecord{}
	for _, r := range reports {
		if cluster != "" && r.Cluster != cluster {
			continue
		}
		k := [2]string{r.Cluster, r.EntryID}
		byEntry[k] = append(byEntry[k], r)
	}
	rows = []ShowRow{}
	for _, it := range items {
		k := [2]string{it.Cluster, it.EntryID}
		row := ShowRow{ScheduleItem: it, Reports: []pipeline.PlayRecord{}}
		var rest []pipeline.PlayRecord
		for _, r := range byEntry[k] {
			if r.SegmentID == "" || r.SegmentID == it.SegmentID {
				row.Reports = append(row.Reports, r)
			} else {
				rest = append(rest, r)
			}
		}
		byEntry[k] = rest
		rows = append(rows, row)
	}
	unmatched = []pipeline.PlayRecord{}
	for _, rs := range byEntry {
		unmatched = append(unmatched, rs...)
	}
	slices.SortFunc(unmatched, func(a, b pipeline.PlayRecord) int { return a.Started.Compare(b.Started) })
	return rows, unmatched
}

// Explain returns the builder's account of the commune's schedule: every
// playlist with each item's reason, and every ready segment that does not
// air there with why. It runs the builder for this commune on the store's
// inputs now (milliseconds; accounts are not stored with each version,
// which would cost a national build most of its time and space). The
// first line says whether that build matches the commune's current
// version (same ETag) or differs from it, as it does when something
// changed since the last build and a rebuild is due. shown says which
// segments the reader may see by id and title (nil: all); the others
// are told apart from theirs only as schedules.OtherSegment
// (schedules.ExplainFor).
func (s *Service) Explain(ctx context.Context, head pipeline.CommuneHead, shown func(segmentID string) bool) (string, error) {
	if head.VersionID == "" {
		return "", pipeline.Errorf(pipeline.CodeNotFound, "Commune %s has no schedule yet: run 'loa schedule build'.", head.Code)
	}
	p, err := s.plan(ctx, s.now(), []string{head.Code})
	if err != nil {
		return "", err
	}
	if p.sched == nil && len(p.notBuilt) > 0 {
		return "", pipeline.Errorf(pipeline.CodeInvalid, "Commune %s cannot be built: %s. To correct it: %s.", head.Code, p.notBuilt[0].Problem, NotBuiltFix)
	}
	if p.sched == nil {
		return "", pipeline.Errorf(pipeline.CodeNotFound, "Commune %s is not in the registry any more.", head.Code)
	}
	tag := versionTag(s.items(p, &p.reg.Communes[0]), p.start, s.days())
	var first string
	if tag == head.ETag {
		first = fmt.Sprintf("Current version %s (ETag %s), as the builder made it:\n", head.VersionID, head.ETag)
	} else {
		first = fmt.Sprintf("The current version %s (ETag %s) differs from what a build now makes (ETag %s): something changed since it was built and a rebuild is due. The account of a build now:\n", head.VersionID, head.ETag, tag)
	}
	return first + schedules.ExplainFor(p.sched, head.Code, "", shown), nil
}
