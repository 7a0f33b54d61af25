// The program the benign-native package builds and runs.
#include <iostream>
#include <string>

int main()
{
	std::string who = "native build";
	std::cout << "benign-native: hello from a " << who << '\n';
	return 0;
}
