// Package subtitle reads, writes and checks SRT and WebVTT subtitle files.
package subtitle
