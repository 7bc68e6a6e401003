// Package results keeps a test's store directory
// (store/<test-name>/<start time>/, with store/latest pointing at the
// newest), writes its JSON files and prints the summary a person reads
// first.
package results
