//go:build gcs

package objstore

import _ "gocloud.dev/blob/gcsblob" // gs://: Application Default Credentials

func init() { builtIn["gs"] = "" }
