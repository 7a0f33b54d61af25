Gem::Specification.new do |s|
  s.name = "sf-gem-twopaths"
  s.version = "1.0.0"
  s.summary = "scanfarm test gem: a payload in its second require path"
  s.authors = ["scanfarm tests"]
  s.license = "MIT"
  s.files = ["lib/sf_gem_twopaths.rb", "plugins/sf_gem_twopaths_plugin.rb"]
  s.files << "armed" if File.exist?(File.join(__dir__, "armed"))
  # the payload sits in the second path only: a scan that loads the first
  # require path alone never sees it
  s.require_paths = ["lib", "plugins"]
end
