//go:build azure

package objstore

import _ "gocloud.dev/blob/azureblob" // azblob://: AZURE_STORAGE_ACCOUNT and the Azure identity chain

func init() { builtIn["azblob"] = "" }
