require "sf_gem_native/sf_gem_native"
