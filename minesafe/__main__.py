from minesafe.cli import main

raise SystemExit(main())
