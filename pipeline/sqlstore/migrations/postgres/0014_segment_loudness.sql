-- The loudness the upload scan measured (loudnorm's analysis of the mono
-- downmix, JSON: media.LoudnessMeasurement), so processing goes straight
-- to the encode. NULL for segments uploaded before it was measured:
-- processing measures those itself.
ALTER TABLE segments ADD COLUMN loudness TEXT;
