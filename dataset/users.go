package dataset

import "fmt"

// UserMemberships expands memberships drawn over users (U users × M models, any design) to their
// records: record i is in model m's training set exactly when its user users[i] is, so that all of a
// user's records are in or out together — the split that user-level membership inference needs
// (PrivacyGuard's user-level aggregation). users holds one user index in [0, U) per record.
func UserMemberships(users []int, byUser *Memberships) (*Memberships, error) {
	ms := NewMemberships(len(users), byUser.M)
	for i, u := range users {
		if u < 0 || u >= byUser.N {
			return nil, fmt.Errorf("user memberships: record %d has user %d, outside [0, %d)", i, u, byUser.N)
		}
		copy(ms.Members[i*ms.M:(i+1)*ms.M], byUser.Members[u*byUser.M:(u+1)*byUser.M])
	}
	return ms, nil
}

// UserIndex maps the records' user identifiers to user indices 0, 1, … in order of first appearance,
// and returns the identifiers by index.
func UserIndex(ids []string) (users []int, names []string) {
	seen := map[string]int{}
	users = make([]int, len(ids))
	for i, id := range ids {
		u, ok := seen[id]
		if !ok {
			u = len(names)
			seen[id] = u
			names = append(names, id)
		}
		users[i] = u
	}
	return users, names
}
