require "mkmf"
create_makefile("sf_gem_native/sf_gem_native")
