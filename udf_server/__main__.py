import sys

from udf_server.main import main

sys.exit(main())
