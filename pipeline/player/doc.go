// Package player is the commune player's domain: what each loudspeaker
// cluster plays when, from a verified offline bundle (Plan), the
// append-only journal of what was played (Journal), the upload of that
// journal as play reports, the heartbeat, and the runner that keeps each
// cluster on the schedule's clock through a real player process
// (package mpv).
//
// The rules, in one place:
//
//   - Only media listed in the signed manifest with a matching checksum is
//     ever played; the bundle is verified before it is used.
//   - Each item starts at its planned start and is silent by its Stop: the
//     next entry's start within its slot, or the slot's end (the end of
//     the slot's last entry). An item still sounding then is cut.
//   - The schedule's clock decides what plays: after a restart, a late
//     start or an emergency, the item whose window holds the current time
//     plays from the offset the clock says; an item with less than MinPlay
//     left is skipped; a finished (or failed) item is never played again.
//   - An emergency interrupt in the bundle that has not played yet stops
//     whatever its cluster plays at once, plays to its end, and then the
//     slot continues where the schedule is at that moment (the preempted
//     item from its scheduled offset, if its window is still open). A
//     newer interrupt preempts an older one sounding; the older then plays
//     again from its start (Plan.Next: newest first).
//   - A new bundle takes effect from the next item (the one sounding plays
//     on), except for an emergency, which preempts at once, and except
//     when the item sounding is off the air in it (Plan.Holds: an
//     emergency ended early, a segment withdrawn): that item stops at
//     once, is journalled stopped with the reason and reported failed,
//     and the cluster goes on with what the new bundle has due now by
//     the clock.
//   - A file that no longer matches the signed manifest is refused and
//     reported failed; the next sync downloads it again.
//   - A bundle past its valid_until is not played: the player says so.
//   - A filler or ident entry with audio in the bundle plays like a
//     segment; one without is left silent and journalled as skipped with
//     the reason (no play report: spare time is not a failed broadcast).
//   - The journal keeps every record until the server has it; past
//     CompactBytes it is compacted (Journal.Compact), keeping what is not
//     yet uploaded, plays still open and the done records of KeepDone.
//   - A heartbeat (Heartbeater) tells the server how the player stands
//     every minute and after each sync; the server shows the device
//     online, late or offline from it (schedules.DeviceStateOf).
package player
