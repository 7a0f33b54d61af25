VALUE = "built by sf-build-backend"
