// Package objstore keeps files of a run directory on object storage (s3://, gs://, azblob:// URLs)
// through gocloud.dev/blob, the established portable client: credentials come from each cloud's
// standard environment variables and configuration files (for S3 the AWS SDK's chain:
// AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/config, instance and pod roles; for GCS Application Default
// Credentials; for Azure AZURE_STORAGE_ACCOUNT and the Azure identity chain), and settings such as an
// S3-compatible endpoint are the URL's query parameters (s3://bucket/prefix?endpoint=…&region=…).
//
// Writes are atomic: an object store makes an object visible under its key only once its upload is
// complete, and a failed upload cancels the writer's context before Close (which would otherwise
// commit), so no partially written object ever appears. Each upload carries the content's MD5, which
// the store checks on arrival; pmeter's own sidecars carry the SHA-256 of every artefact, which the
// reader verifies.
package objstore

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// (gs:// and azblob:// with the build tags gcs and azure)
	"gocloud.dev/gcerrors"

	"github.com/pmeter/pmeter/npy"
)

// Schemes are the URL schemes of the object stores a run directory can live on. s3 is always built
// in; gs and azblob need the build tags gcs and azure, whose client libraries would triple the size
// of the binary.
var Schemes = []string{"s3", "gs", "azblob"}

// builtIn reports whether this binary has the driver of each scheme.
var builtIn = map[string]string{"s3": ""}

// Store is a folder (a key prefix) of a bucket.
type Store struct {
	b   *blob.Bucket
	url string
}

// Open opens the folder that url names: scheme://bucket/prefix?settings.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("run directory %q: %w", rawURL, err)
	}
	known := false
	for _, s := range Schemes {
		known = known || u.Scheme == s
	}
	if !known || u.Host == "" {
		return nil, fmt.Errorf("run directory %q: want s3://bucket/prefix, gs://bucket/prefix or azblob://container/prefix", rawURL)
	}
	if _, ok := builtIn[u.Scheme]; !ok {
		tag := map[string]string{"gs": "gcs", "azblob": "azure"}[u.Scheme]
		return nil, fmt.Errorf("run directory %s: this pmeter has no %s:// driver; build it with -tags %s (go build -tags %s ./cmd/pmeter, or the Dockerfile's TAGS)", redact(rawURL), u.Scheme, tag, tag)
	}
	open := u.Scheme + "://" + u.Host
	if u.RawQuery != "" {
		open += "?" + u.RawQuery
	}
	b, err := blob.OpenBucket(ctx, open)
	if err != nil {
		return nil, fmt.Errorf("run directory %s: %w", redact(rawURL), err)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		b = blob.PrefixedBucket(b, p+"/")
	}
	return &Store{b: b, url: redact(rawURL)}, nil
}

// redact drops the query (which may hold settings, never credentials, but is long) from messages.
func redact(u string) string {
	s, _, _ := strings.Cut(u, "?")
	return s
}

// Close releases the bucket.
func (s *Store) Close() error { return s.b.Close() }

// String is the store's URL without its settings.
func (s *Store) String() string { return s.url }

// Download copies the object key to the local file path, atomically (npy.WriteAtomic). A missing
// object gives an error satisfying errors.Is(err, os.ErrNotExist).
func (s *Store) Download(ctx context.Context, key, path string) error {
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		return s.wrap(key, err)
	}
	defer r.Close()
	if err := npy.WriteAtomic(path, func(w io.Writer) error { _, err := io.Copy(w, r); return err }); err != nil {
		return fmt.Errorf("%s/%s: %w", s.url, key, err)
	}
	return nil
}

// Upload copies the local file path to the object key. The object appears whole or not at all.
func (s *Store) Upload(ctx context.Context, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return s.write(ctx, key, f, h.Sum(nil))
}

// write uploads r to key with its MD5; a failed copy cancels the writer's context first, so that
// Close aborts the upload instead of committing what was written.
func (s *Store) write(ctx context.Context, key string, r io.Reader, sum []byte) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, key, &blob.WriterOptions{ContentMD5: sum})
	if err != nil {
		return s.wrap(key, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		w.Close()
		return fmt.Errorf("%s/%s: upload abandoned: %w", s.url, key, err)
	}
	if err := w.Close(); err != nil {
		return s.wrap(key, err)
	}
	return nil
}

// List returns the keys under prefix (relative to the store's folder).
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, s.wrap(prefix, err)
		}
		if !o.IsDir {
			keys = append(keys, o.Key)
		}
	}
}

func (s *Store) wrap(key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s/%s: %w", s.url, key, os.ErrNotExist)
	}
	return fmt.Errorf("%s/%s: %w", s.url, key, err)
}
