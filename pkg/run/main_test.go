package run

import (
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
