// Package jsonsum computes the self-checksum that pmeter's cached JSON artefacts (model sidecars,
// signal sidecars, white-box score files, saved report inputs, submit snapshots) record of themselves,
// so that a damaged or edited file is recomputed or refused rather than trusted.
package jsonsum

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// SHA256 returns the hex SHA-256 of v's compact JSON (encoding/json.Marshal). A file's self-checksum is
// SHA256 of its value with the checksum field itself emptied; a reader decodes the file, empties the
// field and compares, so the checksum does not depend on the file's indentation.
func SHA256(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
