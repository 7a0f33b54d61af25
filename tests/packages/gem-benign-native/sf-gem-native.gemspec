# A gem with a C extension: gem (or bundler) runs extconf.rb, then make and
# gcc, at install.
Gem::Specification.new do |s|
  s.name = "sf-gem-native"
  s.version = "0.2.0"
  s.summary = "scanfarm test gem: a native extension"
  s.authors = ["scanfarm tests"]
  s.license = "MIT"
  s.files = ["lib/sf_gem_native.rb", "ext/sf_gem_native/extconf.rb", "ext/sf_gem_native/sf_gem_native.c"]
  s.extensions = ["ext/sf_gem_native/extconf.rb"]
  s.require_paths = ["lib"]
end
