//go:build !windows

package probe

// liveWindowsSource: this machine is not Windows.
func liveWindowsSource() (WindowsSource, bool) { return nil, false }
