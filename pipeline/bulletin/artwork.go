package bulletin

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
)

// ArtworkSize is the side of the podcast artwork in pixels: square, within
// the 1400 to 3000 px that Apple Podcasts asks for.
const ArtworkSize = 1400

// Artwork draws the bulletin's podcast artwork as a PNG: a loudspeaker
// horn with three sound waves, white on the province's blue. It is drawn,
// not shipped as a file, so it needs no font and no asset; callers cache
// the bytes.
func Artwork() ([]byte, error) {
	const n = ArtworkSize
	blue := color.RGBA{0x0b, 0x4f, 0x8a, 0xff}
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{blue, color.White, color.RGBA{0xf2, 0xb7, 0x05, 0xff}})
	cx, cy := float64(n)*0.34, float64(n)*0.5
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			dx, dy := fx-cx, fy-cy
			switch {
			case horn(fx, fy, n):
				img.SetColorIndex(x, y, 1)
			case dx > 0 && math.Abs(dy) < dx*0.9 && wave(math.Hypot(dx, dy), n):
				img.SetColorIndex(x, y, 2)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("bulletin artwork: %w", err)
	}
	return b.Bytes(), nil
}

// horn reports whether (x, y) is in the loudspeaker: a box and a flare.
func horn(x, y float64, n int) bool {
	s := float64(n)
	cy := s * 0.5
	box := x >= s*0.16 && x < s*0.26 && math.Abs(y-cy) < s*0.08
	// The flare widens from the box (half height 0.08) to 0.22 at x=0.40.
	t := (x - s*0.26) / (s * 0.14)
	flare := t >= 0 && t <= 1 && math.Abs(y-cy) < s*(0.08+0.14*t)
	return box || flare
}

// wave reports whether a distance r from the horn's mouth lies on one of
// three rings.
func wave(r float64, n int) bool {
	s := float64(n)
	for _, at := range []float64{0.16, 0.26, 0.36} {
		if math.Abs(r-s*at) < s*0.025 {
			return true
		}
	}
	return false
}
