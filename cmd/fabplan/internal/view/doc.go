// Package view renders plans and run progress for humans. It reads engine data and never
// decides anything.
package view
