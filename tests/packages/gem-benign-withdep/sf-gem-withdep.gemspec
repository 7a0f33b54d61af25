# A plain gem with a runtime dependency the gem source has: the fetch
# phase resolves and downloads it, the install takes both from there.
Gem::Specification.new do |s|
  s.name = "sf-gem-withdep"
  s.version = "2.0.1"
  s.summary = "scanfarm test gem: a runtime dependency"
  s.authors = ["scanfarm tests"]
  s.license = "MIT"
  s.files = ["lib/sf_gem_withdep.rb"]
  s.require_paths = ["lib"]
  s.add_runtime_dependency "sf-gem-pure", ">= 1.0", "< 2"
end
