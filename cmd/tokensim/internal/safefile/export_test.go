package safefile

import "io/fs"

// Test hooks: the writers with an injected stat function.
var (
	WriteWithStat   = write
	ReplaceWithStat = replace
)

// CommitWithStat is Dir.Commit with an injected stat function.
func (d *Dir) CommitWithStat(stat func(string) (fs.FileInfo, error), overwrite bool) error {
	return d.commit(stat, overwrite)
}
