// Package web serves Loa's pages for people: producers, translators and
// reviewers, commune operators and admins. The pages are rendered on the
// server with html/template; the few scripts and the style sheet are
// embedded in the binary, so there is no build step and a page is a few
// kilobytes, which matters on a commune operator's phone.
//
// Every text goes through one message catalogue (messages/vi.json and
// messages/en.json): Vietnamese by default, English by a switch kept in a
// cookie. Pages read and change data through Loa's own HTTP API, called in
// process with the browser's session, so a page can never show or do more
// than the API allows its user; the upload page sends its file straight to
// POST /api/segments from the browser.
//
// Translators and reviewers work on /jobs: the board of their languages,
// and one page per job with the source, a line-by-line editor (the
// Vietnamese cue beside a field pre-filled from the translation memory,
// with close matches and glossary terms), a file upload, the quality
// check's findings on their lines, a player that shows the lines being
// written as a subtitle track, and the reviewer's decision. A refused
// submission's findings come from the API error's structured findings.
//
// Sign-in uses the users of the metadata store and starts a server-side
// session (a random token in an HttpOnly, SameSite=Lax cookie, Secure over
// https; only its hash is stored). Every state-changing request is checked
// by http.CrossOriginProtection. Like the API's routes, every page lists
// the roles it allows (Server.Pages) and denies the rest with a "not
// allowed" page; the tests walk every page as every role.
package web
